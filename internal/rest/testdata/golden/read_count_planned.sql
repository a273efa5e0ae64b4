SELECT NULL::int8 AS total, count("_pgrst_t")::int8 AS page, coalesce(json_agg("_pgrst_t"), '[]')::text AS body, NULL::text[] AS location, nullif(current_setting('response.headers', true), '') AS response_headers, nullif(current_setting('response.status', true), '') AS response_status, NULL::int8 AS inserted FROM (SELECT "t0"."id" FROM "public"."posts" AS "t0" WHERE "t0"."rating" > $1 LIMIT 100) AS "_pgrst_t"
-- args: ["3"]
EXPLAIN (FORMAT JSON) SELECT 1 FROM "public"."posts" AS "t0" WHERE "t0"."rating" > $1
-- args: ["3"]
