#!/bin/sh
# Takes the newest golden-path template release on a branch and opens a pull request (GitHub) or
# merge request (GitLab) for it. Conflicts are never committed silently: when copier cannot merge,
# the conflicting files are committed with their markers on the branch, the request is opened as a
# draft titled "[conflicts]" listing them, and this script exits 1 so the job shows red. After a
# clean update it regenerates docs/openapi.json (`make openapi`) into the same commit.
set -eu
before=$(sed -n 's/^_commit: //p' .copier-answers.yml)
base=$(git rev-parse --abbrev-ref HEAD)
# The bot's identity is given to the update commit only (`git -c`), never written to .git/config:
# the team's later commits stay theirs.
bot_name="${GIT_AUTHOR_NAME:-golden-path-bot}"
bot_email="${GIT_AUTHOR_EMAIL:-golden-path-bot@users.noreply.example.com}"
uvx --from 'copier>=9.13,<10' copier update --trust --defaults --skip-answered --conflict inline
after=$(sed -n 's/^_commit: //p' .copier-answers.yml)
if [ "$before" = "$after" ] && [ -z "$(git status --porcelain)" ]; then
  echo "already on the newest template release ($after)"
  exit 0
fi
conflicts=$( { git diff --name-only --diff-filter=U; git grep -l -e '^<<<<<<< ' -e '^>>>>>>> ' || true; } | sort -u)
branch="template-update-$after"
title="Update the golden-path template to $after"
body="Template update from $before to $after (see the template's CHANGELOG.md)."
# docs/openapi.json is generated from this repository's contract, so copier never touches it: the
# updated service may serve a different document, and `make lint` fails until it is regenerated.
openapi_failed=""
if [ -z "$conflicts" ]; then
  make openapi || openapi_failed=yes
fi
if [ -n "$conflicts" ]; then
  title="[conflicts] $title"
  body="$body

Copier could not merge these files; resolve the conflict markers before merging:
$(printf '%s\n' "$conflicts" | sed 's/^/- /')

Then run \`make openapi\` and commit docs/openapi.json."
elif [ -n "$openapi_failed" ]; then
  title="[make openapi failed] $title"
  body="$body

\`make openapi\` failed after the update, so docs/openapi.json was not regenerated: run it, fix
what it reports and commit docs/openapi.json before merging."
fi
git checkout -b "$branch"
git add -A
git -c user.name="$bot_name" -c user.email="$bot_email" commit -q -m "$title" -m "Template-Update: $before -> $after"
if [ -n "${GITHUB_ACTIONS:-}" ]; then
  gh auth setup-git
  git push --force-with-lease origin "$branch"
  draft=$( { [ -n "$conflicts" ] || [ -n "$openapi_failed" ]; } && echo --draft || true )
  gh pr create --base "$base" --head "$branch" --title "$title" --body "$body" $draft
elif [ -n "${GITLAB_CI:-}" ]; then
  git push --force-with-lease -o merge_request.create -o "merge_request.target=$base" \
    -o "merge_request.title=$title" -o "merge_request.description=$body" origin "$branch"
else
  echo "$body"
  echo "committed on branch $branch; push it and open a request"
fi
if [ -n "$conflicts" ]; then
  echo "conflicts in:" >&2
  printf '%s\n' "$conflicts" >&2
  exit 1
fi
if [ -n "$openapi_failed" ]; then
  echo "make openapi failed: docs/openapi.json was not regenerated" >&2
  exit 1
fi
