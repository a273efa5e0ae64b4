SELECT NULL::int8 AS total, count("_pgrst_t")::int8 AS page, coalesce(json_agg("_pgrst_t"), '[]')::text AS body, NULL::text[] AS location FROM (SELECT "t0".* FROM "public"."posts" AS "t0" WHERE ("t0"."id" = $1 OR ("t0"."rating" > $2 AND "t0"."tags" @> $3)) AND NOT (("t0"."id" = ANY($4) AND "t0"."body" IS NULL)) LIMIT $5) AS "_pgrst_t"
-- args: ["1","4","{math}","{\"7\",\"8\"}",100]
