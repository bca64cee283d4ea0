/** The worker's version, shown in /health, worker_info and --version. */
export const VERSION = "0.1.0";
