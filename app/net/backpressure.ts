/**
 * Backpressure on a data channel: stop writing above HIGH_WATER_BYTES buffered, resume
 * below LOW_WATER_BYTES (bufferedamountlow), never stop-and-wait. The file bench holds its
 * raw channel to the same numbers, so they live here, free of browser-only imports.
 */
export const HIGH_WATER_BYTES = 4 * 1024 * 1024;
export const LOW_WATER_BYTES = 1024 * 1024;
