-- Failed logins per e-mail address (known or not), for throttling: after 5 failures within
-- 15 minutes, further attempts are refused until the window has passed.
create table login_failures (
    email_key     text        primary key,
    failures      integer     not null,
    window_start  timestamptz not null,
    constraint login_failures_failures_check check (failures > 0)
);
