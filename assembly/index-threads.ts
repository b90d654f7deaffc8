// The threaded builds' ABI: the kernel's (index.ts), and the protocol their
// host wires the worker threads with (threads.ts).
export * from "./index";
export {
  threads_region_bytes,
  threads_configure,
  thread_start,
  thread_loop,
  thread_failed,
  threads_status,
  threads_stop,
  thread_fail_next_job,
} from "./threads";
