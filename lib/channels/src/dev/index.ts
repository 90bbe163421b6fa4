/**
 * `next-channels/dev`: development tools. Server code hot reload (`HotReloader`, which the Next
 * adapter runs for you), moving open consumers onto reloaded classes, and the restart supervisor.
 *
 * @packageDocumentation
 */
export { HotReloader, type HotReloaderOptions, type ReloadReport } from './hot-reloader';
export { type DevSupervisorOptions, RESTART_EXIT_CODE, superviseDevServer } from './supervisor';
export { type AnyClass, hotKey, liveConsumerClassesIn, trackLiveConsumers, upgradeLiveConsumers } from '../live-consumers';
