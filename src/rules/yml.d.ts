// The embedded default rules (`import … with { type: "text" }`) are a string.
declare module "*.yml" {
  const text: string;
  export default text;
}
