// Builds ferry's optional native kernel (native/ferry_native.c) with node-gyp at install time.
// Without a compiler the build fails and ferry runs on its JS kernels (same bytes, slower);
// FERRY_REQUIRE_NATIVE=1 turns that into an install error instead (CI sets it).
import { spawnSync } from "node:child_process";

const gyp = process.env.npm_config_node_gyp; // npm's bundled node-gyp, when run by npm
const r = gyp
  ? spawnSync(process.execPath, [gyp, "rebuild"], { stdio: "inherit" })
  : spawnSync("node-gyp", ["rebuild"], { stdio: "inherit" });
if (r.status !== 0) {
  const msg = "ferry: the native kernel did not build; ferry will use its slower JS kernels";
  if (process.env.FERRY_REQUIRE_NATIVE === "1") {
    console.error(`${msg} (FERRY_REQUIRE_NATIVE=1: failing)`);
    process.exit(1);
  }
  console.error(`${msg} (needs python3, make and a C compiler)`);
}
