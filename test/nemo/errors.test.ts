import { describe, expect, it } from 'vitest';
import { checkAnswer, envelopeData, parseJson, retryAfterMsFrom } from '../../src/nemo/answer.js';
import {
  classify,
  NemoApiError,
  NemoCode,
  NemoInputError,
  NemoNetworkError,
  NemoStreamError,
  redactTokens,
} from '../../src/nemo/errors.js';
import { sessionDataSchema } from '../../src/nemo/schemas.js';

const endpoint = '/api/credits/balance/simple';

function refusal(run: () => unknown): NemoApiError {
  try {
    run();
  } catch (error) {
    if (error instanceof NemoApiError) return error;
    throw error;
  }
  throw new Error('expected a NemoApiError');
}

describe('checkAnswer', () => {
  it('when the status is not 2xx and there is no envelope, then it is a NemoApiError with that status', () => {
    const error = refusal(() => checkAnswer({ status: 502, body: undefined }, endpoint));
    expect(error).toMatchObject({ code: 'nemo_api_error', status: 502, nemoCode: undefined, endpoint });
  });

  it('when a 200 carries a non-zero code, then it is a NemoApiError with that code and message', () => {
    const error = refusal(() => checkAnswer({ status: 200, body: { code: 2001, message: 'Insufficient credits' } }, endpoint));
    expect(error).toMatchObject({ status: 200, nemoCode: NemoCode.NoCredits });
    expect(error.message).toContain('Insufficient credits');
  });

  it('when both the status and the code say no, then both are kept', () => {
    const error = refusal(() => checkAnswer({ status: 401, body: { code: 1001, message: 'expired' } }, endpoint));
    expect(error).toMatchObject({ status: 401, nemoCode: 1001 });
  });

  it('when a 429 has a Retry-After, then the error carries it', () => {
    const error = refusal(() => checkAnswer({ status: 429, body: { code: 429 }, retryAfterMs: 3000 }, endpoint));
    expect(error.retryAfterMs).toBe(3000);
    expect(classify(error)).toEqual({ action: 'wait_and_retry', retryAfterMs: 3000 });
  });

  it('when success is false without any render status, then it is a refusal; with a status it is data', () => {
    expect(refusal(() => checkAnswer({ status: 200, body: { success: false, error: 'nope' } }, endpoint)).message).toContain('nope');
    const failedRender = { success: false, data: { status: 'failed', error: 'codec' } };
    expect(checkAnswer({ status: 200, body: failedRender }, endpoint)).toBe(failedRender);
  });

  it('when the service message contains a bearer token, then the error text does not', () => {
    const error = refusal(() =>
      checkAnswer({ status: 401, body: { code: 1001, message: 'token nmv_usr_SECRET123 expired' } }, endpoint),
    );
    expect(error.message).not.toContain('SECRET123');
    expect(error.message).toContain('nmv_[redacted]');
  });

  it('when an envelope data does not match the schema, then the error names the field but not its value', () => {
    const body = { code: 0, data: { task_id: 't', session_id: { secret: 'x' }, user_id: 'u' } };
    const error = refusal(() => envelopeData({ status: 200, body }, '/api/tasks/me/with-session/nemo_agent', sessionDataSchema));
    expect(error.message).toContain('session_id');
    expect(error.message).not.toContain('secret');
  });
});

describe('parseJson', () => {
  it('when a session id is a 19-digit number, then its digits are kept exactly', () => {
    const body = parseJson('{"code":0,"data":{"task_id":"t","session_id":5529798706024415232,"user_id":"u"}}');
    expect(envelopeData({ status: 200, body }, '/x', sessionDataSchema).session_id).toBe('5529798706024415232');
  });

  it('when the text is empty or not JSON, then it is undefined; small numbers stay numbers', () => {
    expect(parseJson('')).toBeUndefined();
    expect(parseJson('<html>')).toBeUndefined();
    expect(parseJson('{"n":1.5,"m":42}')).toEqual({ n: 1.5, m: 42 });
  });
});

describe('retryAfterMsFrom', () => {
  it('when Retry-After is seconds or a date, then it becomes milliseconds; garbage is undefined', () => {
    expect(retryAfterMsFrom('2')).toBe(2000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMsFrom('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10_000);
    expect(retryAfterMsFrom(undefined)).toBeUndefined();
    expect(retryAfterMsFrom('soon')).toBeUndefined();
  });
});

describe('classify', () => {
  const api = (status: number, nemoCode?: number, at = endpoint) => new NemoApiError({ status, nemoCode, endpoint: at });

  it('when the code is 1001, then renew_token; when 1002, then new_session', () => {
    expect(classify(api(401, 1001)).action).toBe('renew_token');
    expect(classify(api(200, 1001)).action).toBe('renew_token');
    expect(classify(api(404, 1002)).action).toBe('new_session');
  });

  it('when rate limited, then wait_and_retry', () => {
    expect(classify(api(429))).toEqual({ action: 'wait_and_retry' });
  });

  it('when the service fails with 5xx or does not answer, then retry', () => {
    expect(classify(api(503)).action).toBe('retry');
    expect(classify(new NemoNetworkError(endpoint, new Error('ECONNRESET'))).action).toBe('retry');
  });

  it('when a turn gets a 5xx, then give_up, because the message may have been accepted', () => {
    expect(classify(api(502, undefined, '/run_sse')).action).toBe('give_up');
  });

  it('when it is anything else, then give_up', () => {
    for (const error of [
      api(402),
      api(409),
      api(200, NemoCode.NoCredits),
      api(400),
      new NemoStreamError('nemo_stream_broken', ''),
      new NemoInputError('file_too_large', 'big'),
      new Error('boom'),
      'a string',
    ]) {
      expect(classify(error).action).toBe('give_up');
    }
  });
});

describe('error classes', () => {
  it('when built, then each carries its code and the input error its NemoVideo code', () => {
    expect(new NemoStreamError('nemo_turn_idle_timeout', 'half a sent').partialText).toBe('half a sent');
    expect(new NemoInputError('unsupported_file', 'x').nemoCode).toBe(4001);
    expect(new NemoInputError('file_too_large', 'x').nemoCode).toBe(4002);
    expect(new NemoNetworkError(endpoint, new Error('connect ECONNREFUSED'))).toMatchObject({ code: 'nemo_network_error' });
  });

  it('when text holds tokens, then redactTokens removes every one', () => {
    expect(redactTokens('a nmv_usr_abc-DEF_1 b nmv_usr_x')).toBe('a nmv_[redacted] b nmv_[redacted]');
  });
});
