"use client";

import { useState } from "react";
import { Shell } from "@/components/Shell";
import { Buckets } from "@/components/storage/Buckets";
import { Objects } from "@/components/storage/Objects";
import { useLoad } from "@/components/useLoad";
import { api } from "@/lib/api";
import { Bucket, STORAGE } from "@/lib/storage";

// The storage browser lives at /files: /storage is the storage API's path.
function Files() {
  const buckets = useLoad(() => api<Bucket[]>("GET", `${STORAGE}/bucket`), []);
  const [open, setOpen] = useState("");
  const bucket = buckets.data?.find((b) => b.id === open);
  return (
    <>
      {buckets.error && <p className="error" role="alert">{buckets.error}</p>}
      {bucket ? (
        <Objects key={bucket.id} bucket={bucket} back={() => { setOpen(""); buckets.reload(); }} />
      ) : (
        <Buckets buckets={buckets.data ?? []} reload={buckets.reload} open={setOpen} />
      )}
    </>
  );
}

export default function Page() {
  return (
    <Shell title="Storage" need="can_manage_storage">
      <Files />
    </Shell>
  );
}
