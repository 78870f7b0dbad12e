import { describe, expect, it } from 'vitest';
import { envExample, settingsTable } from '../../scripts/settings-table.js';
import { composeServices, configDefault, configVariables, envExampleEntries, read, readmeSettings } from './settings-sources.js';

const sorted = (names: Iterable<string>): string[] => [...new Set(names)].sort();

/** The services running our image: another program's service (Telegram's Bot API server) has settings of its own. */
function appServices(): ReturnType<typeof composeServices> {
  const services = composeServices();
  return Object.fromEntries(Object.entries(services).filter(([, definition]) => definition.image === services.bot?.image));
}

describe('settings across config, compose, .env.example and README', () => {
  const config = configVariables();

  it('when the compose services bot and worker are read, then each passes exactly the config variables', () => {
    const services = composeServices();
    for (const name of ['bot', 'worker']) {
      expect({ service: name, variables: sorted(Object.keys(services[name]?.environment ?? {})) }).toEqual({ service: name, variables: config });
    }
  });

  it('when .env.example is read, then it names every config variable exactly once', () => {
    const names = envExampleEntries().map((entry) => entry.name);
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
    expect(sorted(names)).toEqual(config);
  });

  it('when .env.example is read, then it is the one written from src/config.ts (npm run docs:settings)', () => {
    expect(read('.env.example').split('\n')).toEqual(envExample().split('\n'));
  });

  it('when the README settings table is read, then it is the one written from src/config.ts (npm run docs:settings)', () => {
    const table = /^## Settings\n[\s\S]*?^(\|[\s\S]*?)\n(?!\|)/m.exec(read('README.md'))?.[1];
    expect(table?.split('\n')).toEqual(settingsTable().split('\n'));
  });

  it('when the README settings table is read, then it names exactly the config variables', () => {
    expect(sorted(readmeSettings().map((setting) => setting.name))).toEqual(config);
  });

  it('when compose passes a variable, then it passes the one of the same name (REDIS_URL is fixed to the redis service)', () => {
    for (const [service, definition] of Object.entries(appServices())) {
      for (const [name, value] of Object.entries(definition.environment ?? {})) {
        const expected = name === 'REDIS_URL' ? /^redis:\/\/redis:6379$/ : new RegExp(`^\\$\\{${name}:-[^}]*\\}$`);
        expect({ service, name, value }).toEqual({ service, name, value: expect.stringMatching(expected) as unknown });
      }
    }
  });

  it('when .env.example shows a default, then it is the config default; a setting without one (or an empty list) is left empty', () => {
    for (const { name, commented, value } of envExampleEntries()) {
      const fallback = configDefault(name);
      const expected = fallback === undefined || fallback === '' ? { commented: false, value: '' } : { commented: true, value: fallback };
      expect({ name, commented, value }).toEqual({ name, ...expected });
    }
  });

  it('when the README gives a default, then it is the config default', () => {
    for (const setting of readmeSettings()) {
      expect({ name: setting.name, defaultValue: setting.defaultValue }).toEqual({ name: setting.name, defaultValue: configDefault(setting.name) });
    }
  });

  it('when a compose default is spelled out, then it is the config default', () => {
    for (const definition of Object.values(appServices())) {
      for (const [name, value] of Object.entries(definition.environment ?? {})) {
        const spelled = /^\$\{[A-Z0-9_]+:-(.+)\}$/.exec(value)?.[1];
        if (spelled !== undefined) expect({ name, value: spelled }).toEqual({ name, value: configDefault(name) });
      }
    }
  });
});
