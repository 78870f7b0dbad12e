import type { Readable } from 'node:stream';
import type { NemoCredentials, RenderStatus } from '../nemo/types.js';

/** The part of `NemoClient` the render worker uses. */
export interface RenderApi {
  submitRender(cred: NemoCredentials, input: { id: string; sessionId: string; draft: unknown }): Promise<RenderStatus>;
  renderStatus(cred: NemoCredentials, id: string): Promise<RenderStatus>;
  /** The MP4 as a stream (the CDN url, else the authenticated download endpoint), never buffered. */
  openRenderOutput(cred: NemoCredentials, status: RenderStatus): Promise<{ stream: Readable; size?: number }>;
  cancelRender(cred: NemoCredentials, id: string): Promise<unknown>;
}
