// A tiny browser-safe emitter: node:events is not available in browsers, and the client
// only needs typed on/off/emit.

import { clientLimits } from "./constants.ts";
import { reportCallbackError } from "./report.ts";

// Listeners of different events have different parameter lists; the map erases them and
// on/emit restore them by event name.
type AnyListener = (...args: any[]) => void;

export class Emitter<Events extends Record<string, unknown[]>> {
  private readonly listeners = new Map<keyof Events, Set<AnyListener>>();

  on<K extends keyof Events>(event: K, fn: (...args: Events[K]) => void): void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    if (set.size >= clientLimits.listenersMax && !set.has(fn)) throw new RangeError(`more than ${clientLimits.listenersMax} listeners on "${String(event)}"`);
    set.add(fn);
  }

  off<K extends keyof Events>(event: K, fn: (...args: Events[K]) => void): void {
    this.listeners.get(event)?.delete(fn);
  }

  /** Calls every listener; one that throws does not keep the others from running. */
  emit<K extends keyof Events>(event: K, ...args: Events[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (e) {
        reportCallbackError(e);
      }
    }
  }
}
