import { LogLevel, setLogLevel, type BaseAgent } from '@google/adk';
import { AdkApiServer } from '@google/adk-devtools';
import { conformanceAgent, ScriptBook, type AgentEffects } from './scripted-agents.js';

export const APP_NAME = 'nemo_agent';
export const ADK_USER = 'me';

export interface AdkServer {
  readonly url: string;
  /** Scripts for the next turns. */
  readonly scripts: ScriptBook;
  /** Creates a session under a given id, as ADK's `POST /apps/{app}/users/{user}/sessions/{id}` does. */
  createSession(sessionId: string): Promise<void>;
  /** Forgets a session, as a restarted in-memory ADK server would. */
  deleteSession(sessionId: string): Promise<void>;
  close(): Promise<void>;
}

// The devtools' loader reads agent files from a folder (and compiles them with esbuild); its
// constructor takes any loader, so the agent built here is served as the app `nemo_agent`.
function loaderFor(agent: BaseAgent): ConstructorParameters<typeof AdkApiServer>[0]['agentLoader'] {
  const file = { load: async () => agent, dispose: async () => undefined, [Symbol.asyncDispose]: async () => undefined };
  const loader = {
    listAgents: async () => [APP_NAME],
    listApps: async () => [APP_NAME],
    listLoadFailures: async () => [],
    getAgentFile: async (name: string) => {
      if (name !== APP_NAME) throw new Error(`no agent ${name}`);
      return file;
    },
    disposeAll: async () => undefined,
  };
  return loader as unknown as ConstructorParameters<typeof AdkApiServer>[0]['agentLoader'];
}

/** Google's ADK API server (the JS ADK's own `/run_sse`) on 127.0.0.1, serving scripted agents. */
export async function startAdkServer(effects: AgentEffects): Promise<AdkServer> {
  const scripts = new ScriptBook();
  // ADK logs every model request at info; the agents' own failures are the tests' business.
  setLogLevel(LogLevel.ERROR);
  const server = new AdkApiServer({
    host: '127.0.0.1',
    port: 0,
    agentLoader: loaderFor(conformanceAgent(scripts, effects)),
    logLevel: LogLevel.ERROR,
  });
  await server.start();
  const sessionUrl = (sessionId: string) => `${server.url}/apps/${APP_NAME}/users/${ADK_USER}/sessions/${encodeURIComponent(sessionId)}`;
  return {
    url: server.url,
    scripts,
    async createSession(sessionId) {
      const create = () => fetch(sessionUrl(sessionId), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      let answer = await create();
      if (answer.status === 400) {
        // Each test's fake NemoVideo numbers its sessions afresh: an id may name an earlier test's session.
        await answer.arrayBuffer();
        await (await fetch(sessionUrl(sessionId), { method: 'DELETE' })).arrayBuffer();
        answer = await create();
      }
      if (!answer.ok) throw new Error(`ADK refused the session ${sessionId}: ${answer.status} ${await answer.text()}`);
      await answer.arrayBuffer();
    },
    async deleteSession(sessionId) {
      const answer = await fetch(sessionUrl(sessionId), { method: 'DELETE' });
      await answer.arrayBuffer();
    },
    close: () => server.stop(),
  };
}
