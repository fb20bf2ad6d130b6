import { fileURLToPath } from 'node:url';

/** The shipped default template (`config`) and values, in the ConfigMap shape. */
export function defaultFiles(): { configFile: string; valuesFile: string } {
  return {
    configFile: fileURLToPath(new URL('../../files/config.yaml', import.meta.url)),
    valuesFile: fileURLToPath(new URL('../../files/values.json', import.meta.url)),
  };
}
