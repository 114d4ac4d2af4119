from __future__ import annotations

import pytest

from inbox.staff.models import StaffUser
from tests.staff.factories import make_staff


@pytest.fixture
def staff(runtime) -> StaffUser:
    return make_staff(runtime, email="nurse@hospital.example")


@pytest.fixture
def admin(runtime) -> StaffUser:
    return make_staff(runtime, email="admin@hospital.example", admin=True)
