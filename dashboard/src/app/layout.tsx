import type { Metadata, Viewport } from "next";
import "./globals.css";

export const metadata: Metadata = { title: "Go Forward", description: "Go Forward admin dashboard" };
export const viewport: Viewport = { width: "device-width", initialScale: 1 };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
