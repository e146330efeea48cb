export { EventBus } from './bus.js';
export type { EventActor, EventBusOptions, EventType, SubscribeOptions } from './bus.js';
export { EVENT_FILTER_KEYS, eventMatches, familiarName } from './filter.js';
