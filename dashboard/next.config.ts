import type { NextConfig } from "next";

// The dashboard is exported to static files (out/) that the goforward binary embeds and
// serves at /, on the same origin as the API. Nothing here may depend on where or when it is
// built: scripts/test.sh rebuilds it and fails when the committed out/ differs.
const config: NextConfig = {
  output: "export",
  // A fixed build id: Next's default is random, which would make every build differ.
  generateBuildId: async () => "goforward-dashboard",
  images: { unoptimized: true },
  poweredByHeader: false,
  reactStrictMode: true,
  devIndicators: false,
};

export default config;
