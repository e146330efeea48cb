export { DockerfileError } from './errors.js';
export { expandInstruction, expandWord, type ExpandContext } from './expand.js';
export {
  parseJsonArray,
  readDockerfile,
  type CommandForm,
  type CopyInstruction,
  type Dockerfile,
  type FromInstruction,
  type HealthcheckInstruction,
  type Instruction,
  type KeyValue,
  type Stage,
} from './instructions.js';
export { chompHeredoc, parseDockerfile, type Directives, type Heredoc } from './parser.js';
export { processWord, processWords, ShellLexError, type Vars } from './shell-lex.js';
