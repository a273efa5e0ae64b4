import Link from "next/link";
export default function Users() {
  return <main><h1>Users</h1><Link href="/">home</Link></main>;
}
