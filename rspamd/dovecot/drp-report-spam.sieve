require ["vnd.dovecot.pipe", "copy", "imapsieve"];
# The message the user moved into Junk goes to drp's /report.
pipe :copy "drp-learn" ["spam"];
