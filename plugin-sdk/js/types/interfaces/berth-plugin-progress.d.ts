declare module 'berth:plugin/progress@0.3.0' {
  /**
   * Reports that the running call has done `progress` out of `total` (if known), with
   * an optional human-readable `message`. The host sends it to the client only when the
   * client asked for progress of this call, and only when `progress` is greater than in
   * the previous report (MCP requires progress to increase); otherwise it does nothing.
   * Never blocks and never fails.
   */
  export function report(progress: number, total: number | undefined, message: string | undefined): void;
}
