import type { Logger } from '../common/index.js';
import { secondsToNano, type EventMessage, type Filters } from '../api-types/index.js';
import { eventMatches } from './filter.js';

export type EventType = EventMessage['Type'];

export interface EventActor {
  ID: string;
  Attributes?: Record<string, string>;
}

export interface SubscribeOptions {
  /** Unix seconds (float): replay buffered events at or after this instant. */
  since?: number;
  /** Unix seconds (float): replay and deliver events up to this instant, then end. */
  until?: number;
  filters?: Filters;
}

export interface EventBusOptions {
  /** How many past events are kept for `since` (Docker keeps 256). */
  capacity?: number;
  /** Clock in nanoseconds since the epoch; default a monotonic clock anchored to Date.now(). */
  clock?: () => bigint;
  logger?: Logger;
}

interface Stored {
  ns: bigint;
  msg: EventMessage;
}

interface Subscriber {
  filters: Filters;
  untilNs?: bigint;
  onEvent: (ev: EventMessage) => void;
  end: () => void;
}

/**
 * The daemon's event stream (`GET /events`): publishers record what happened, subscribers get
 * the matching past events (from a ring buffer) and then live ones. Delivery is synchronous and
 * in publish order; a subscriber that throws is logged, not allowed to break the publisher.
 */
export class EventBus {
  private readonly capacity: number;
  private readonly clock: () => bigint;
  private readonly logger?: Logger;
  private readonly ring: (Stored | undefined)[];
  private head = 0; // next write slot
  private count = 0;
  private lastNs = 0n;
  private readonly subscribers = new Set<Subscriber>();

  constructor(opts: EventBusOptions = {}) {
    this.capacity = opts.capacity ?? 1024;
    this.clock = opts.clock ?? monotonicEpochClock();
    this.logger = opts.logger;
    this.ring = new Array<Stored | undefined>(this.capacity);
  }

  /**
   * Record an event now. Container and image events also get the legacy `status`/`id`/`from`
   * fields Docker still emits (`from` is the container's `image` attribute).
   */
  publish(type: EventType, action: string, actor: EventActor): EventMessage {
    // Microsecond resolution: a float carries a nanosecond epoch (~1.7e18) only to 256 ns, and
    // a µs-rounded value serialises to exact JSON digits.
    let ns = (this.clock() / 1000n) * 1000n;
    if (ns <= this.lastNs) ns = this.lastNs; // never go backwards: since/until rely on order
    this.lastNs = ns;
    const Attributes = { ...(actor.Attributes ?? {}) };
    const legacy: Partial<EventMessage> = {};
    if (type === 'container') {
      legacy.status = action;
      legacy.id = actor.ID;
      if (Attributes['image']) legacy.from = Attributes['image'];
    } else if (type === 'image') {
      legacy.status = action;
      legacy.id = actor.ID;
    }
    const msg: EventMessage = {
      ...legacy,
      Type: type,
      Action: action,
      Actor: { ID: actor.ID, Attributes },
      scope: 'local',
      time: Number(ns / 1_000_000_000n),
      timeNano: Number(ns),
    };
    this.ring[this.head] = { ns, msg };
    this.head = (this.head + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
    for (const sub of [...this.subscribers]) {
      if (!this.subscribers.has(sub)) continue;
      if (sub.untilNs !== undefined && ns > sub.untilNs) {
        sub.end();
        continue;
      }
      this.deliver(sub, msg);
    }
    return msg;
  }

  /**
   * Replay buffered events matching `since`/`until`/filters (only when since or until is set,
   * as Docker), then deliver live matching events. With `until`, `onEnd` is called once the
   * instant has passed (at once if it is already past). Returns the unsubscribe function.
   */
  subscribe(
    opts: SubscribeOptions,
    onEvent: (ev: EventMessage) => void,
    onEnd?: () => void,
  ): () => void {
    const filters = opts.filters ?? new Map<string, string[]>();
    const sinceNs =
      opts.since !== undefined && opts.since > 0 ? secondsToNano(opts.since) : undefined;
    const untilNs =
      opts.until !== undefined && opts.until > 0 ? secondsToNano(opts.until) : undefined;
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const sub: Subscriber = {
      filters,
      untilNs,
      onEvent,
      end: () => {
        if (ended) return;
        ended = true;
        this.subscribers.delete(sub);
        if (timer) clearTimeout(timer);
        onEnd?.();
      },
    };
    const unsubscribe = (): void => {
      ended = true;
      this.subscribers.delete(sub);
      if (timer) clearTimeout(timer);
    };

    if (sinceNs !== undefined || untilNs !== undefined) {
      for (const { ns, msg } of this.buffered()) {
        if (ended) break;
        if (sinceNs !== undefined && ns < sinceNs) continue;
        if (untilNs !== undefined && ns > untilNs) break;
        this.deliver(sub, msg);
      }
    }
    if (ended) return unsubscribe;
    if (untilNs !== undefined) {
      const waitMs = Number((untilNs - this.clock()) / 1_000_000n);
      if (waitMs < 0) {
        sub.end();
        return unsubscribe;
      }
      // +1 ms so an event published at exactly `until` is still delivered.
      timer = setTimeout(() => sub.end(), Math.min(waitMs + 1, 2 ** 31 - 1));
    }
    this.subscribers.add(sub);
    return unsubscribe;
  }

  /** The buffered events, oldest first. */
  recent(): EventMessage[] {
    return this.buffered().map((s) => s.msg);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  private buffered(): Stored[] {
    const out: Stored[] = [];
    const start = (this.head - this.count + this.capacity) % this.capacity;
    for (let i = 0; i < this.count; i++) out.push(this.ring[(start + i) % this.capacity]!);
    return out;
  }

  private deliver(sub: Subscriber, msg: EventMessage): void {
    if (!eventMatches(sub.filters, msg)) return;
    try {
      sub.onEvent(msg);
    } catch (err) {
      this.logger?.error({ err, module: 'events' }, 'event subscriber failed');
    }
  }
}

/**
 * Wall-clock nanoseconds since the epoch with sub-millisecond resolution: the monotonic clock
 * fills in below Date.now()'s milliseconds and is re-anchored when the wall clock moves away.
 */
function monotonicEpochClock(): () => bigint {
  let baseEpoch = BigInt(Date.now()) * 1_000_000n;
  let baseHr = process.hrtime.bigint();
  return () => {
    const hr = process.hrtime.bigint();
    const wall = BigInt(Date.now()) * 1_000_000n;
    let t = baseEpoch + (hr - baseHr);
    const drift = t - wall;
    if (drift > 2_000_000n || drift < -2_000_000n) {
      baseEpoch = wall;
      baseHr = hr;
      t = wall;
    }
    return t;
  };
}
