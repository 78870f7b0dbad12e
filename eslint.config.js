import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.data/**', 'videos/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The core and the NemoVideo client stay platform-free: adapters plug into them, never the reverse.
    files: ['src/core/**/*.ts', 'src/nemo/**/*.ts', 'src/render/**/*.ts', 'src/media/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['discord.js', 'discord.js/*', '@discordjs/*', 'telegraf', 'telegraf/*'], message: 'src/core, src/nemo, src/render and src/media never import a platform SDK.' },
            { group: ['**/adapters/**'], message: 'src/ never imports an adapter.' },
          ],
        },
      ],
    },
  },
);
