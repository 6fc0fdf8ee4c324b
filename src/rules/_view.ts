/** Derive what rules look at (name, subcommand, script, java jar/class) from a process's comm and argv. */
import { dfgOnly } from "../core/jit-tier.ts";
import { MAX_COMMAND, type ProcessFacts, type View } from "./types.ts";

const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);

/** java options that take the next argument as their value */
const JAVA_VALUED = new Set(["-cp", "-classpath", "--class-path", "-p", "--module-path", "--add-modules"]);
/** interpreter options that take the next argument as their value */
const INTERP_VALUED = new Set(["-W", "-X", "-e", "-f", "-o", "-O", "-I", "-l"]);

function javaView(args: readonly string[]): View["java"] {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-jar") {
      const jar = args[i + 1];
      return jar === undefined ? {} : { jar: base(jar), subcommand: args[i + 2] };
    }
    if (JAVA_VALUED.has(a)) i++;
    else if (!a.startsWith("-")) return { class: a, subcommand: args[i + 1] };
  }
  return {};
}

/**
 * A copy Snakemake makes of a `script:` rule's script to run it: `.snakemake/scripts/tmp` + 8 random
 * characters + `.` + the script's own name (a new name every run, so a step named after it would match
 * no step of another run in diff or advise)
 */
const SNAKEMAKE_SCRIPT = /(?:^|\/)\.snakemake\/scripts\/tmp[a-z0-9_]{8}\.([^/]+)$/;
/** a script's basename; for Snakemake's copy of a script, the script's own name */
const scriptBase = (p: string) => SNAKEMAKE_SCRIPT.exec(p)?.[1] ?? base(p);

function scriptOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-c" || a === "--") return a === "--" && args[i + 1] ? scriptBase(args[i + 1]!) : undefined;
    if (a === "-m") return args[i + 1];
    if (a.startsWith("--file=")) return scriptBase(a.slice(7));
    if (INTERP_VALUED.has(a)) i++;
    else if (!a.startsWith("-")) return scriptBase(a);
  }
  return undefined;
}

const SOURCE = /\.(c|cc|cpp|cxx|c\+\+|C|s|S|f|f90|f95|m)$/;

/**
 * The file a command line writes, from its arguments: `-o FILE`, `-oFILE`, `--output=FILE`,
 * `--output FILE`; else, for a compile-only command (`-c` and a source file), the source's basename
 * with `.o` (what cc writes). Undefined when none can be read.
 */
export function outputOf(args: readonly string[]): string | undefined {
  let compileOnly = false;
  let source: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "-o" || a === "--output") return args[i + 1] || undefined;
    if (a.startsWith("--output=")) return a.slice(9) || undefined;
    if (a.startsWith("-o") && a.length > 2 && !a.startsWith("-o-")) return a.slice(2);
    if (a === "-c") compileOnly = true;
    else if (source === undefined && !a.startsWith("-") && SOURCE.test(a)) source = a;
  }
  return compileOnly && source ? `${base(source).replace(SOURCE, "")}.o` : undefined;
}

/**
 * A process's view: the names at once (every rule's name filter reads them), the others worked out when
 * a rule first reads them (most processes of a run match no rule's names: no argument list and no
 * command line is built for them).
 */
class ProcessView implements View {
  #args?: readonly string[];
  #command?: string;
  #subcommand?: string | undefined;
  #script?: string | undefined;
  #output?: string | null;
  #java?: View["java"];
  #looked = 0;

  constructor(
    readonly name: string,
    readonly comm: string,
    readonly interpreter: string | undefined,
    readonly argv: readonly string[],
    private readonly full: readonly string[],
    private readonly shebang: boolean,
  ) {}

  get args() {
    this.#args ??= this.argv.slice(1);
    return this.#args;
  }
  get command() {
    if (this.#command === undefined) {
      const command = this.full.join(" ");
      this.#command = command.length > MAX_COMMAND ? command.slice(0, MAX_COMMAND) : command;
    }
    return this.#command;
  }
  mentionsAny(strings: readonly string[]): boolean {
    for (const word of this.full) for (const s of strings) if (word.includes(s)) return true;
    return false;
  }
  get subcommand() {
    if (!(this.#looked & 1)) {
      this.#looked |= 1;
      this.#subcommand = this.java ? this.java.subcommand : this.args.find((a) => !a.startsWith("-"));
    }
    return this.#subcommand;
  }
  get script() {
    if (!(this.#looked & 2)) {
      this.#looked |= 2;
      this.#script = this.shebang ? this.name : scriptOf(this.args);
    }
    return this.#script;
  }
  get output() {
    if (this.#output === undefined) this.#output = outputOf(this.args) ?? null;
    return this.#output ?? undefined;
  }
  get java() {
    if (this.name !== "java" && this.comm !== "java") return undefined;
    this.#java ??= javaView(this.args);
    return this.#java;
  }
}

export function viewOf(facts: ProcessFacts): View {
  const full = facts.argv?.length ? facts.argv : facts.comm ? [facts.comm] : [];
  // A script started through its #! line shows up as argv [interpreter, script, args…] with the
  // script's name as comm (cut to 15 characters): the script is then the program, the interpreter
  // kept aside. The program's basename is worked out once.
  const program = base(full[0] ?? "");
  const comm = facts.comm ?? program;
  const shebang = full.length >= 2 && program !== comm && base(full[1]!).slice(0, 15) === comm;
  const interpreter = shebang ? program : undefined;
  const argv = shebang ? full.slice(1) : full;
  const name = shebang ? (argv[0] ? base(argv[0]) : comm) : full[0] ? program : comm;
  return new ProcessView(name, comm, interpreter, argv, full, shebang);
}

/**
 * Keep the view's functions out of the FTL tier (src/core/jit-tier.ts): a report classifies every
 * process of a run in one pass (the daemon, long-lived, keeps the normal policy: it never calls this).
 */
export function viewDfgOnly(): void {
  dfgOnly(base, javaView, scriptOf, outputOf, viewOf);
  for (const d of Object.values(Object.getOwnPropertyDescriptors(ProcessView.prototype)))
    for (const f of [d.get, d.value]) if (typeof f === "function" && f !== ProcessView) dfgOnly(f);
}
