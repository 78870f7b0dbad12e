import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_DOCUMENT_POOL_LIMITS, DocumentPool } from '../../src/core/document-pool.js';
import { docx, docxBomb, pdfBomb } from '../helpers/document-bombs.js';
import { watchMainThread } from '../helpers/main-thread-watch.js';
import { waitFor } from '../helpers/wait-for.js';
import { closeAndCheck, startTelegramRig, type TelegramRig } from './telegram-harness.js';

let rig: TelegramRig | undefined;

afterEach(async () => {
  const current = rig;
  rig = undefined;
  if (current) await closeAndCheck(current);
});

const MB = 1024 * 1024;
// The PDF bomb runs into this limit (a thousand pages take far longer), so the test knows the outcome.
const PARSE_TIMEOUT_MS = 8_000;

describe('document bombs through the Telegram adapter', () => {
  it(
    'when one user sends a PDF bomb and a .docx bomb, then they are told the documents are too complex, nothing reaches the agent, and another user chatting meanwhile is answered',
    async () => {
      const documents = new DocumentPool({ ...DEFAULT_DOCUMENT_POOL_LIMITS, maxPdfPages: 1_000, timeoutMs: PARSE_TIMEOUT_MS });
      rig = await startTelegramRig({ documents });
      const { tg, nemo } = rig;
      const attacker = tg.user({ languageCode: 'zh-hans' });
      const attackerChat = tg.privateChat(attacker);
      const other = tg.user();
      const otherChat = tg.privateChat(other);

      const reading = await watchMainThread(async () => {
        tg.say(attackerChat, attacker, { media: { kind: 'document', file: tg.file({ bytes: pdfBomb(1000) }), fileName: 'bomb.pdf', mimeType: 'application/pdf' } });
        await waitFor(() => documents.load.active === 1, { timeoutMs: 20_000, message: 'the PDF bomb is being parsed' });
        // Another person's turn, while the bomb is in its thread.
        tg.say(otherChat, other, { text: 'a sunset over the sea' });
        const answered = await rig!.waitSent(otherChat.id, /Happy to help with: a sunset over the sea/, { timeoutMs: 30_000 });
        const parsingWhenAnswered = documents.load.active === 1;
        const refused = await rig!.waitSent(attackerChat.id, /这个文档太大或太复杂，无法读取：“bomb\.pdf”/, { timeoutMs: 60_000 });
        return { answered, refused, parsingWhenAnswered };
      });
      expect(reading.outcome.ok).toBe(true);
      const { parsingWhenAnswered } = (reading.outcome as { value: { parsingWhenAnswered: boolean } }).value;
      expect(parsingWhenAnswered, 'the other user was answered while the bomb was still being parsed').toBe(true);
      expect(reading.lagP99Ms, `p99 event-loop lag (max ${reading.lagMaxMs.toFixed(1)} ms)`).toBeLessThan(100);
      expect(reading.rssGrowthBytes).toBeLessThan(300 * MB);

      const from = tg.sent.length;
      tg.say(attackerChat, attacker, { media: { kind: 'document', file: tg.file({ bytes: docxBomb(100) }), fileName: 'bomb.docx' } });
      await rig.waitSent(attackerChat.id, /这个文档太大或太复杂，无法读取：“bomb\.docx”/, { from, timeoutMs: 30_000 });

      // Only the other user's words reached the agent; the attacker's next, ordinary document is read.
      expect(nemo.sseCalls.map((call) => call.text)).toEqual(['a sunset over the sea']);
      tg.say(attackerChat, attacker, { caption: '做成视频', media: { kind: 'document', file: tg.file({ bytes: docx(['海边的日落']) }), fileName: 'plan.docx' } });
      await waitFor(() => nemo.sseCalls.length === 2, { timeoutMs: 30_000, message: 'the ordinary document reached the agent' });
      expect(nemo.sseCalls[1]?.text).toBe('做成视频\n\n[plan.docx]\n海边的日落');
      expect(documents.load).toEqual({ active: 0, queued: 0 });
    },
    180_000,
  );
});
