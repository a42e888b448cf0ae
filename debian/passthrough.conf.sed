# passthrough.conf.sed -- makes the package's /etc/passthrough/passthrough.conf
# (a conffile) from the tree's example, etc/passthrough.conf, which `make run`
# keeps serving as it is: one source for the routes and the comments. It
# sets what the systemd unit and the logrotate file expect: the workers'
# user, a pid_file under /run/passthrough (the unit's RuntimeDirectory; with
# ProtectSystem=strict the rest of /run is read-only) for -s reload/reopen,
# and the two logs in /var/log/passthrough (the unit's LogsDirectory, what
# logrotate rotates). debian/rules checks that each line below was made.
1s|^# passthrough.conf -- example configuration (libconfig syntax)\.$|# passthrough.conf -- passthrough's configuration, from the Debian package\
# (libconfig syntax). It is the example of the source tree with user,\
# pid_file, log.error and log.access set for the systemd unit. A conffile:\
# dpkg keeps your edits on upgrades. Reload a change: systemctl reload passthrough.|
s|^#user = "nobody";$|user = "passthrough";   # a system user made by the package|
/^#group = "nogroup";$/a\
\
# Where the master writes its pid: -s reload / reopen (and logrotate) read it.\
pid_file = "/run/passthrough/passthrough.pid";
/^  level = "info";/a\
  error = "/var/log/passthrough/error.log";     # rotated by /etc/logrotate.d/passthrough\
  access = "/var/log/passthrough/access.log";   # one line per connection
