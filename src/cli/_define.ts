/**
 * citty's defineCommand, typed by citty but without importing it at run time: the runner parses
 * arguments itself (./_args.ts), so citty loads only to render --help.
 */
import type { ArgsDef, CommandDef } from "citty";

export const defineCommand = <const T extends ArgsDef = ArgsDef>(def: CommandDef<T>): CommandDef<T> => def;
