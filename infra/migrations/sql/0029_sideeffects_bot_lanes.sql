-- The bot events' lanes (infra/sideeffects/botlanes.go): each event recorded for its bot, delivered
-- in order by the bot's own goroutine, kept an hour once done. Servers before this migration created
-- the table themselves at router start: IF NOT EXISTS keeps theirs.
CREATE TABLE IF NOT EXISTS public.sideeffects_bot_events (
	seq            bigserial PRIMARY KEY,
	id             text NOT NULL UNIQUE,
	bot_id         text NOT NULL,
	payload        bytea NOT NULL,
	correlation_id text NOT NULL DEFAULT '',
	attempts       int NOT NULL DEFAULT 0,
	due            timestamptz NOT NULL DEFAULT now(),
	leased_until   timestamptz,
	done           timestamptz
);
CREATE INDEX IF NOT EXISTS sideeffects_bot_events_bot ON public.sideeffects_bot_events (bot_id, seq) WHERE done IS NULL;
CREATE INDEX IF NOT EXISTS sideeffects_bot_events_done ON public.sideeffects_bot_events (done) WHERE done IS NOT NULL;
