"""Records kept in tables read back as they were written (the fast paths included)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streams.core.models import StoryRef


@given(uri=st.text(min_size=1, max_size=20), version=st.integers(1, 2**53 - 1), late=st.booleans(),
       source=st.none() | st.text(max_size=10), confidence=st.floats(0, 1),
       time=st.floats(-6e10, 2.5e11, allow_nan=False))
def test_story_ref_round_trips(uri, version, late, source, confidence, time):
    ref = StoryRef(uri=uri, version=version, text_hash="h", headline="x", source=source, lang="en", time=time,
                   late=late, lang_confidence=confidence)
    assert StoryRef.from_dict(ref.to_dict()) == ref
