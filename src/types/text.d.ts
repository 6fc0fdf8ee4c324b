// Files imported `with { type: "text" }` (embedded C source) are strings.
declare module "*.c" {
  const text: string;
  export default text;
}
