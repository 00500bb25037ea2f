// Auto-generated names: friendly, pronounceable and unique on this server.
import { randomInt } from 'node:crypto';

const ADJECTIVES = [
  'Amber', 'Brave', 'Bright', 'Calm', 'Clever', 'Cosy', 'Crimson', 'Dapper', 'Eager', 'Fancy',
  'Gentle', 'Golden', 'Happy', 'Jolly', 'Kind', 'Lucky', 'Mellow', 'Merry', 'Misty', 'Nimble',
  'Patient', 'Plucky', 'Quiet', 'Rapid', 'Silver', 'Sleepy', 'Snowy', 'Sunny', 'Swift', 'Witty',
];
const ANIMALS = [
  'Badger', 'Bear', 'Beaver', 'Crane', 'Deer', 'Dolphin', 'Falcon', 'Ferret', 'Finch', 'Fox',
  'Gecko', 'Hare', 'Heron', 'Koala', 'Lynx', 'Marten', 'Moose', 'Newt', 'Otter', 'Owl',
  'Panda', 'Puffin', 'Raven', 'Robin', 'Seal', 'Sparrow', 'Stoat', 'Swan', 'Turtle', 'Wren',
];

/** Picks a name for which `isFree` is true, adding digits once the plain names run short. */
export function generateName(isFree: (name: string) => boolean): string {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const base = ADJECTIVES[randomInt(ADJECTIVES.length)] + ANIMALS[randomInt(ANIMALS.length)];
    const name = attempt < 20 ? base : `${base}${randomInt(10, 10_000)}`;
    if (isFree(name)) return name;
  }
  // 900 names times 10,000 suffixes: reaching here means the server is absurdly full.
  throw new Error('no free generated name');
}
