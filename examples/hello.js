// A tiny agent: writes a file, reads it back, returns a JSON result.
export default async function main() {
  console.log("hello from inside the sandbox");
  await sys.fs.mkdir("notes", { recursive: true });
  await sys.fs.writeText("notes/today.txt", "the sandbox works\n");
  const text = await sys.fs.readText("notes/today.txt");
  const info = await sys.info();
  return { text, pid: info.pid, entries: await sys.fs.readDir("notes") };
}
