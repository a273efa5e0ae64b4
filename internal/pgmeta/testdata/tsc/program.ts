// A small supabase-js program typed with the generated Database type. It compiles under
// tsc --strict only if the types are right: every @ts-expect-error line must be an error
// (tsc fails on one that is not), so types that are too loose fail as surely as wrong ones.
import { createClient } from "@supabase/supabase-js"
import type { Database, Enums, Tables, TablesInsert } from "./database.types"

const supabase = createClient<Database>("http://localhost:8080", "anon-key")

export async function main(): Promise<void> {
  const { data: authors } = await supabase.from("authors").select("id, name, mood, tags")
  if (authors && authors.length > 0) {
    const name: string = authors[0].name
    const mood: "sad" | "ok" | "happy" | null = authors[0].mood
    const tags: string[] | null = authors[0].tags
    // @ts-expect-error name is a string
    const wrong: number = authors[0].name
    console.log(name, mood, tags, wrong)
  }

  // Embedding along posts.author_id → authors.id: at most one author.
  const { data: posts } = await supabase.from("posts").select("title, authors(name)")
  if (posts && posts.length > 0) {
    const author: { name: string } | null = posts[0].authors
    console.log(author)
  }
  // ... and from authors, many posts.
  const { data: withPosts } = await supabase.from("authors").select("name, posts(title)")
  if (withPosts && withPosts.length > 0) {
    const titles: { title: string }[] = withPosts[0].posts
    console.log(titles)
  }

  await supabase.from("posts").insert({ title: "hello" })
  // @ts-expect-error title is required
  await supabase.from("posts").insert({ body: "no title" })
  // @ts-expect-error an identity column GENERATED ALWAYS cannot be written
  await supabase.from("authors").insert({ id: 1, name: "x" })
  await supabase.from("authors").update({ mood: "happy" }).eq("id", 1)
  // @ts-expect-error not one of the enum's labels
  await supabase.from("authors").update({ mood: "angry" }).eq("id", 1)
  // @ts-expect-error no such table
  await supabase.from("nosuch").select()

  const { data: sum } = await supabase.rpc("add", { a: 1 })
  const n: number | null = sum
  // @ts-expect-error a is required
  await supabase.rpc("add", { b: 2 })
  const { data: titles } = await supabase.rpc("titles_of", { author: 1 })
  if (titles && titles.length > 0) {
    const t: string = titles[0].title
    console.log(t)
  }

  const { data: view } = await supabase.from("post_titles").select("title")
  const row: Tables<"posts"> = { id: 1, title: "t", body: null, author_id: null, created_at: "" }
  const insert: TablesInsert<"posts"> = { title: "t" }
  const mood: Enums<"mood"> = "happy"
  console.log(n, view, row, insert, mood)
}
