import { describe, expect, it } from 'vitest';
import { describeTelegramError } from '../../adapters/telegram/errors.js';
import { describeError } from '../../src/lib/describe-error.js';
import { NemoApiError } from '../../src/nemo/errors.js';

const NEMO_TOKEN = 'nmv_usr_Q2xpZW50U2VjcmV0VG9rZW4xMjM0NTY3';
const BOT_TOKEN = '123456789:AAHk2ZbXqWcR8tLmNoPqRsTuVwXyZ012345';

describe('describeError: one description of an error for a log line', () => {
  it('when an error carries a code, a status and a NemoVideo code, then the line has them with a scrubbed message', () => {
    const error = new NemoApiError({ endpoint: '/run_sse', status: 200, nemoCode: 2001, serviceMessage: 'insufficient credits' });
    expect(describeError(error)).toEqual({
      name: 'NemoApiError',
      message: 'NemoVideo /run_sse answered 200 code 2001: insufficient credits',
      code: 'nemo_api_error',
      status: 200,
      nemoCode: 2001,
    });
  });

  it('when a message or a thrown value holds a token, then the description does not', () => {
    const line = JSON.stringify([describeError(new Error(`refused Bearer ${NEMO_TOKEN}`)), describeError(`token=${NEMO_TOKEN}`)]);
    expect(line).not.toContain(NEMO_TOKEN.slice(8));
  });

  it("when an error has other fields (headers, a URL), then they stay out of the line", () => {
    const error = Object.assign(new Error('boom'), { headers: { authorization: `Bearer ${NEMO_TOKEN}` }, url: `https://x.test/?token=${NEMO_TOKEN}` });
    expect(Object.keys(describeError(error)).sort()).toEqual(['code', 'message', 'name', 'nemoCode', 'status']);
  });

  it('when a platform passes its details, then its fields and its scrubbing apply (Telegram: the Bot API refusal, no bot path)', () => {
    const refusal = Object.assign(new Error('400: Bad Request: chat not found'), {
      response: { error_code: 400, description: `Bad Request: chat not found /bot${BOT_TOKEN}/sendMessage`, parameters: { retry_after: 3 } },
    });
    const line = describeTelegramError(refusal);
    expect(line).toMatchObject({ code: 400, retryAfterSeconds: 3 });
    expect(JSON.stringify(line)).not.toContain(BOT_TOKEN.split(':')[1]);
    expect(JSON.stringify(describeTelegramError(new Error(`connect ECONNREFUSED bot${BOT_TOKEN}`)))).not.toContain(BOT_TOKEN.split(':')[1]);
  });
});
