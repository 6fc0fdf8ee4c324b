/** Recognition rules: the facts a rule looks at, the condition tree, and a loaded rule. */

/** What a rule can see of one process. */
export interface ProcessFacts {
  /** kernel comm (at most 15 characters) */
  comm?: string | null;
  argv?: readonly string[] | null;
}

/** A compiled condition: one node of the and/or/not tree. */
export type Condition =
  | { kind: "and"; all: Condition[] }
  | { kind: "or"; any: Condition[] }
  | { kind: "not"; cond: Condition }
  | { kind: "test"; key: string; test: (v: View) => boolean; value?: unknown };

/** Derived, cached views of a process used by the condition tests and the display templates. */
export interface View {
  /** basename of argv[0], or comm when argv is unknown */
  name: string;
  comm: string;
  /** for a script started through its #! line: the interpreter (argv then starts at the script) */
  interpreter: string | undefined;
  argv: readonly string[];
  args: readonly string[];
  /** argv joined by single spaces, capped at MAX_COMMAND characters */
  command: string;
  /**
   * Does a word of the command line (an argument, or comm when argv is unknown) hold one of `strings`?
   * For a string with no space, `command` can hold it only then (the command line is not built).
   */
  mentionsAny(strings: readonly string[]): boolean;
  /** first argument that is not an option */
  subcommand: string | undefined;
  /** for interpreters: basename of the script (first non-option argument) */
  script: string | undefined;
  /** the file the command writes: `-o FILE`, `-oFILE`, `--output[=] FILE`; for a compile-only `-c x.c`, `x.o` */
  output: string | undefined;
  /** for java: basename of the -jar file, the main class, and the argument after either */
  java: { jar?: string; class?: string; subcommand?: string } | undefined;
}

export type RuleKind = "tool" | "workflow" | "script";

export interface Rule {
  /** the tool's name (for grouping and totals) */
  name: string;
  kind: RuleKind;
  /** template such as "bwa {subcommand}" */
  display: string;
  when: Condition;
  /** where it was defined: "file:line" */
  origin: string;
}

export interface RuleSet {
  rules: Rule[];
  exclude: { when: Condition; origin: string }[];
  /** files in precedence order (user files first, "<embedded defaults>" last) */
  files: string[];
}

export interface Match {
  rule: Rule;
  /** the display template filled in */
  display: string;
}

/** Longest command line a condition looks at; longer ones are cut (regexes stay linear anyway). */
export const MAX_COMMAND = 8192;
