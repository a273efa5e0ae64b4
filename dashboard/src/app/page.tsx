export default function Home() {
  return <main><h1>Go Forward</h1></main>;
}
