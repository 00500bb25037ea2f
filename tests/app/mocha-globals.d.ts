// The BDD globals that @web/test-runner-mocha puts on window (mocha 10), typed just
// enough for the app tests: describe/it with .skip/.only, and the four hooks.
interface WispMochaContext {
  timeout(ms: number): void;
  skip(): never;
}
type WispMochaFn = (this: WispMochaContext) => void | Promise<unknown>;
interface WispMochaDescribe {
  (title: string, fn: (this: WispMochaContext) => void): void;
  only(title: string, fn: (this: WispMochaContext) => void): void;
  skip(title: string, fn: (this: WispMochaContext) => void): void;
}
interface WispMochaIt {
  (title: string, fn: WispMochaFn): void;
  only(title: string, fn: WispMochaFn): void;
  skip(title: string, fn?: WispMochaFn): void;
}
declare const describe: WispMochaDescribe;
declare const it: WispMochaIt;
declare function before(fn: WispMochaFn): void;
declare function after(fn: WispMochaFn): void;
declare function beforeEach(fn: WispMochaFn): void;
declare function afterEach(fn: WispMochaFn): void;
