import { Component, type ReactNode } from 'react';
import { ErrorAlert } from './ui';

/** ErrorBoundary shows a crash of a page (or a failed download of its code) in place of a blank screen. */
export class ErrorBoundary extends Component<{ children: ReactNode }, { error: unknown }> {
  state = { error: null as unknown };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  render() {
    if (this.state.error) return <div className="ferry-page"><ErrorAlert error={this.state.error} /></div>;
    return this.props.children;
  }
}
