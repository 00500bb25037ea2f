import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { AppState, Store } from './store.ts';

/** Re-renders its host whenever the store changes. */
export class StoreController implements ReactiveController {
  private unsubscribe?: () => void;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly store: Store,
  ) {
    host.addController(this);
  }

  get state(): AppState {
    return this.store.state;
  }

  hostConnected(): void {
    this.unsubscribe = this.store.subscribe(() => this.host.requestUpdate());
  }

  hostDisconnected(): void {
    this.unsubscribe?.();
  }
}
