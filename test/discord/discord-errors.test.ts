import { DiscordAPIError, HTTPError } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { asDiscordRequestError, describeDiscordError, isInvalidInteractionToken, isTooLarge, maskRoute } from '../../adapters/discord/discord-errors.js';

const TOKEN = 'aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDEyMzQ1Njc4OnNlY3JldHNlY3JldHNlY3JldA';

describe('Discord errors', () => {
  it('when a route holds an interaction token, then the mask hides it and every id', () => {
    expect(maskRoute(`https://discord.com/api/v10/webhooks/123456789012/${TOKEN}/messages/%40original`)).toBe('/webhooks/:id/:token/messages/@original');
    expect(maskRoute(`http://127.0.0.1:9/api/v10/interactions/123456789012/${TOKEN}/callback?with_response=false`)).toBe('/interactions/:id/:token/callback');
    expect(maskRoute('http://127.0.0.1:9/api/v10/channels/123456789012/messages')).toBe('/channels/:id/messages');
  });

  it('when discord.js throws an API error for an interaction route, then the description keeps status and code, not the URL', () => {
    const url = `https://discord.com/api/v10/webhooks/123456789012/${TOKEN}/messages/%40original`;
    const apiError = new DiscordAPIError({ code: 50027, message: `Invalid Webhook Token ${url}` }, 50027, 401, 'PATCH', url, { body: undefined, files: undefined });
    const described = asDiscordRequestError(apiError);
    expect(described.status).toBe(401);
    expect(described.discordCode).toBe(50027);
    expect(isInvalidInteractionToken(described)).toBe(true);
    expect(`${described.message} ${described.route}`).not.toContain(TOKEN);

    const tooLarge = asDiscordRequestError(new HTTPError(413, 'Payload Too Large', 'POST', 'https://discord.com/api/v10/channels/1/messages', { body: undefined, files: undefined }));
    expect(isTooLarge(tooLarge)).toBe(true);
  });

  it('when a Discord failure is described for a log line, then it names the masked route, status and code, and never the URL or token', () => {
    const url = `https://discord.com/api/v10/webhooks/123456789012/${TOKEN}/messages/%40original`;
    const apiError = new DiscordAPIError({ code: 50027, message: `Invalid Webhook Token ${url}` }, 50027, 401, 'PATCH', url, { body: undefined, files: undefined });
    const line = describeDiscordError(apiError);
    expect(line).toMatchObject({ route: 'PATCH /webhooks/:id/:token/messages/@original', status: 401, discordCode: 50027 });
    expect(JSON.stringify(line)).not.toContain(TOKEN);
    expect(JSON.stringify(line)).not.toContain('discord.com');

    const other = describeDiscordError(new Error(`socket hang up calling ${url}`), 'redis');
    expect(other).toMatchObject({ name: 'Error', route: 'redis' });
    expect(JSON.stringify(other)).not.toContain(TOKEN);
  });
});
