import type { Language } from './types.js';

/** A catalog's sentences: each takes nothing or one object of parameters. */
export type Sentences = Record<string, (params: never) => string>;

/** What `key` takes after the language: nothing, or its one object of parameters. */
export type ParamsOf<F> = F extends () => string ? [] : F extends (params: infer P) => string ? [P] : never;

/** Keys whose sentence takes no parameters. */
export type PlainKey<C extends Sentences> = { [K in keyof C]: C[K] extends () => string ? K : never }[keyof C];

/** The sentence `key` in `lang`, with its parameters when it has any. */
export type Lookup<C extends Sentences> = <K extends keyof C>(lang: Language, key: K, ...params: ParamsOf<C[K]>) => string;

/**
 * The one lookup over a set of sentences in every language: the core's, and each adapter's own.
 * Declare `zh` as `typeof en`, so a translation cannot drop a key or a parameter.
 */
export function defineCatalog<C extends Sentences>(catalogs: Record<Language, C>): Lookup<C> {
  return (lang, key, ...params) => (catalogs[lang][key] as (params?: unknown) => string)(params[0]);
}
