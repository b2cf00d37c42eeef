"""The rehearsal world's local stand-ins for external services (config/rehearsal.yaml).

- :mod:`.snapshot` makes a local hub: model, dataset and benchmark repositories in the layout a
  huggingface_hub cache has (``{type}s--{org}--{name}/refs/{branch or tag}`` naming a commit,
  ``snapshots/{commit}/`` holding its files), built from the project's own generators;
- :mod:`.hub` serves that folder over HTTP on loopback with the part of the Hub's API that
  ``huggingface_hub`` and ``datasets`` use, so the download rules run their real code against it
  through ``HF_ENDPOINT``;
- :mod:`.judges` answers chat completions for the rehearsal's two judges on the loopback
  OpenAI-compatible server (:mod:`value_retention.judges.loopback`);
- :mod:`.run` starts both servers, runs the workflow on config/rehearsal.yaml and stops them.
"""
