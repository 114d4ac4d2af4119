"""The per-process runtime: settings, engine, clock, knowledge and mail renderer, built once.

What a single domain needs for itself (the intake writer, the worker) is built where that domain
is started (the app's lifespan, the worker), not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from inbox.clock import Clock, SystemClock
from inbox.config import Settings
from inbox.db import create_db_engine, is_sqlite
from inbox.foreground import Foreground

if TYPE_CHECKING:
    from inbox.knowledge.loader import Knowledge
    from inbox.mails.render import MailRenderer


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    clock: Clock = field(default_factory=SystemClock)
    foreground: Foreground = field(default_factory=Foreground)

    @cached_property
    def knowledge(self) -> Knowledge:
        """The hospital's articles, loaded and validated from the data files."""
        from inbox.knowledge.loader import load_knowledge

        return load_knowledge(
            self.settings.knowledge_dir(), site_base_url=self.settings.site_base_url
        )

    @cached_property
    def renderer(self) -> MailRenderer:
        """Renders every mail from the templates in email_templates/ (or the override)."""
        from inbox.mails.render import MailRenderer

        return MailRenderer.from_settings(self.settings)

    def close(self) -> None:
        """Release the process's database connections."""
        self.engine.dispose()

    @cached_property
    def sqlite(self) -> bool:
        return is_sqlite(self.settings.database_url)


def build_runtime(settings: Settings, *, clock: Clock | None = None) -> Runtime:
    """Create the engine and everything else a process needs."""
    engine = create_db_engine(settings.database_url, pool_size=settings.db_pool_size)
    return Runtime(settings=settings, engine=engine, clock=clock or SystemClock())
