"""The Slack adapter: the only package that imports slack_bolt or slack_sdk."""
