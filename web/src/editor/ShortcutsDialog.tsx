import { Fragment } from 'react';
import { Modal, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { isMac, shortcutList } from './shortcuts';

/** ShortcutsDialog is the "?" list of the canvas's keyboard shortcuts, read from the same table the keys use. */
export function ShortcutsDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useTranslation();
  const list = shortcutList(isMac());
  return (
    <Modal open={open} title={t('canvas.shortcutsTitle')} onCancel={onClose} footer={null} width={520}>
      <Typography.Paragraph type="secondary">{t('canvas.shortcutsHelp')}</Typography.Paragraph>
      <table className="ferry-shortcuts">
        <tbody>
          {list.map((s) => (
            <tr key={s.action}>
              <td>{t(`canvas.shortcuts.${s.action}`)}</td>
              <td>
                {s.keys.map((combo, i) => (
                  <Fragment key={i}>
                    {i > 0 && <span className="ferry-shortcut-or"> {t('canvas.or')} </span>}
                    {combo.map((k, j) => <Fragment key={j}>{j > 0 && '+'}<kbd>{k}</kbd></Fragment>)}
                  </Fragment>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}
