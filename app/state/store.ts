// The state's one pure reducer, combined from slice reducers (./reducers/, one per key of
// the state), and the Store that holds the state. No I/O, no clock, no counters here: the
// Session turns network frames and commands into actions, and gives each the time and the
// ids it needs.
import type { Action } from './actions.ts';
import { initialState, type AppState } from './state.ts';
import type { SliceReducer } from './reducers/slice.ts';
import { connection, directory, iceServers, limits, me, passwordPrompt } from './reducers/connection.ts';
import { rooms } from './reducers/rooms.ts';
import { active, order } from './reducers/tabs.ts';
import { whispers } from './reducers/whispers.ts';
import { transfers } from './reducers/transfers.ts';
import { help, notice, passphrasePrompt, pins, settings, share, updateReady } from './reducers/ui.ts';

export * from './state.ts';
export type { Action } from './actions.ts';

type Slices = { [K in keyof Required<AppState>]: SliceReducer<K> };

/** Every key of the state has its reducer: a new key without one does not compile. */
const SLICES: Slices = {
  connection,
  me,
  passwordPrompt,
  passphrasePrompt,
  rooms,
  order,
  active,
  notice,
  directory,
  limits,
  iceServers,
  updateReady,
  help,
  whispers,
  transfers,
  share,
  pins,
  settings,
};

const KEYS = Object.keys(SLICES) as (keyof Slices)[];

function reduceKey<K extends keyof Slices>(key: K, state: AppState, action: Action): AppState[K] {
  const reducer: Slices[K] = SLICES[key];
  return reducer(state[key], action, state);
}

/**
 * Gives each slice reducer its part of the state, the action and the state as it was.
 * Returns the same state object when no slice changed.
 */
export function reduce(state: AppState, action: Action): AppState {
  let next = state;
  for (const key of KEYS) {
    const value = reduceKey(key, state, action);
    if (value === state[key]) continue;
    if (next === state) next = { ...state };
    (next as Record<keyof AppState, unknown>)[key] = value;
  }
  return next;
}

type Listener = (state: AppState) => void;

/** Holds the state; components subscribe through StoreController. */
export class Store {
  private listeners = new Set<Listener>();

  constructor(public state: AppState = initialState()) {}

  dispatch(action: Action): void {
    const next = reduce(this.state, action);
    if (next === this.state) return;
    this.state = next;
    for (const listener of this.listeners) listener(next);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
