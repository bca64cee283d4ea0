/** The baseline on workerd (scripts/bench/runtimes.ts), run with `wrangler dev` like the worker. */
import { bareApp } from "./bare-app.ts";

export default bareApp;
