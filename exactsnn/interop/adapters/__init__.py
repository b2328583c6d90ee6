"""Runners of other SNN libraries' own simulators on a NIR graph, each writing an ``exactsnn-result/1`` claim
that ``exactsnn validate`` checks. Each library is optional (the ``peers`` extra) and imported on use."""
