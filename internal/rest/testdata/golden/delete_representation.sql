WITH "pgrst_source" AS (DELETE FROM "public"."comments" AS "t0" WHERE "t0"."post_id" = $1 RETURNING "t0".*) SELECT NULL::int8 AS total, count("_pgrst_t")::int8 AS page, coalesce(json_agg("_pgrst_t"), '[]')::text AS body, NULL::text[] AS location FROM (SELECT "t0"."text" FROM "pgrst_source" AS "t0") AS "_pgrst_t"
-- args: ["1"]
