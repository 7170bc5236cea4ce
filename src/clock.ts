// Time as a dependency: every timer-driven module takes a Clock so tests can drive minutes and
// days without waiting. systemClock is the real one; test/helpers has a manual clock.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** milliseconds since the epoch */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/** seconds since the epoch, as Nostr counts */
export const unixNow = (clock: Clock = systemClock): number => Math.floor(clock.now() / 1000);
